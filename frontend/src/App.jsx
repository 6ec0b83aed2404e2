import { Route, Routes } from 'react-router-dom';
import { RequireAuth } from './auth.jsx';
import Layout from './components/Layout.jsx';
import Exchanges from './pages/Exchanges.jsx';
import Home from './pages/Home.jsx';
import Inbox from './pages/Inbox.jsx';
import ItemForm from './pages/ItemForm.jsx';
import ItemPage from './pages/ItemPage.jsx';
import Login from './pages/Login.jsx';
import Matches from './pages/Matches.jsx';
import MyItems from './pages/MyItems.jsx';
import NotFound from './pages/NotFound.jsx';
import Profile from './pages/Profile.jsx';
import PublicProfile from './pages/PublicProfile.jsx';
import Trades from './pages/Trades.jsx';

const guard = (el) => <RequireAuth>{el}</RequireAuth>;

export default function App() {
  return (
    <Routes>
      <Route element={<Layout />}>
        <Route index element={<Home />} />
        <Route path="login" element={<Login />} />
        <Route path="items/:id" element={<ItemPage />} />
        <Route path="users/:id" element={<PublicProfile />} />
        <Route path="items/:id/edit" element={guard(<ItemForm key="edit" />)} />
        <Route path="post" element={guard(<ItemForm key="new" />)} />
        <Route path="my-items" element={guard(<MyItems />)} />
        <Route path="matches" element={guard(<Matches />)} />
        <Route path="trades" element={guard(<Trades />)} />
        <Route path="exchanges" element={guard(<Exchanges />)} />
        <Route path="inbox" element={guard(<Inbox />)} />
        <Route path="profile" element={guard(<Profile />)} />
        <Route path="*" element={<NotFound />} />
      </Route>
    </Routes>
  );
}
